#include "details/race_view.hpp"

#include "details/source_view.hpp"
#include "models/race_pair.hpp"
#include "models/stack_model.hpp"
#include "models/trace_document.hpp"
#include "timeline/timeline_ruler.hpp"

#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTreeView>
#include <QVBoxLayout>

namespace ravel::gui {

namespace {
QString timeText(quint64 ns, double res) { return TimelineRuler::timeAt(ns, res); }
} // namespace

RaceView::RaceView(TraceDocument* document, QWidget* parent)
    : QWidget(parent)
    , m_document(document)
{
    auto* split = new QSplitter(Qt::Horizontal, this);
    split->setChildrenCollapsible(false);
    for (Side side : { Earlier, Later }) {
        m_columns[side] = makeColumn(side);
        auto* column = new QSplitter(Qt::Vertical, split);
        auto* top = new QWidget(column);
        auto* topLayout = new QVBoxLayout(top);
        topLayout->setContentsMargins(0, 0, 0, 0);
        topLayout->setSpacing(2);
        topLayout->addWidget(m_columns[side].header);
        topLayout->addWidget(m_columns[side].view, 1);
        column->addWidget(top);
        column->addWidget(m_columns[side].source);
        column->setChildrenCollapsible(false);
        split->addWidget(column);
    }
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);
    setObjectName(QStringLiteral("raceView"));
}

RaceView::Column RaceView::makeColumn(Side side)
{
    Column c;
    c.header = new QLabel(this);
    c.header->setWordWrap(true);
    c.header->setTextFormat(Qt::RichText);
    c.header->setTextInteractionFlags(Qt::TextSelectableByMouse);
    c.header->setContentsMargins(4, 2, 4, 2);
    c.header->setObjectName(side == Earlier ? QStringLiteral("raceEarlierHeader") : QStringLiteral("raceLaterHeader"));
    c.stack = new StackModel(m_document, this);
    c.view = new QTreeView(this);
    c.view->setModel(c.stack);
    c.view->setRootIsDecorated(false);
    c.view->setUniformRowHeights(true);
    c.view->setAllColumnsShowFocus(true);
    c.view->header()->setSectionResizeMode(StackModel::FrameColumn, QHeaderView::ResizeToContents);
    c.view->header()->setStretchLastSection(true);
    c.source = new SourceView(this);
    connect(c.view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this, side](const QModelIndex& current) { showFrame(side, current.row()); });
    return c;
}

QString RaceView::describeAccess(const TraceDocument& document, const RacePair& pair, Side side, double res)
{
    const RaceAccess& a = side == Later ? pair.second : pair.first;
    const QString var = pair.variable.isEmpty() ? QStringLiteral("0x%1").arg(pair.address, 0, 16) : pair.variable;
    QString text = tr("<b>%1</b> (the %2 access): %3 to <b>%4</b>")
                       .arg(document.threadName(a.thread).toHtmlEscaped(), side == Later ? tr("later") : tr("earlier"),
                            accessWhat(a), var.toHtmlEscaped());
    if (a.timeKnown)
        text += tr(" · at %1").arg(timeText(a.earliestNs, res));
    else if (a.latestNs == a.earliestNs)
        text += tr(" · at ≈%1 (not timed)").arg(timeText(a.latestNs, res));
    else
        text += tr(" · ≈ between %1 and %2 (its time was not recorded)")
                    .arg(timeText(a.earliestNs, res), timeText(a.latestNs, res));
    QStringList held;
    for (quint32 o : a.held)
        held << document.objectName(o);
    if (!held.isEmpty())
        text += tr(" · holding %1").arg(held.join(QStringLiteral(", ")).toHtmlEscaped());
    if (a.heldKnown && held.isEmpty())
        text += tr(" · holding no lock");
    else if (!a.heldKnown) {
        QStringList notHeld;
        for (quint32 o : a.notHeld)
            notHeld << document.objectName(o);
        text += held.isEmpty() ? tr(" · its locks then were not recorded") : tr(" (perhaps more)");
        if (!notHeld.isEmpty())
            text += tr(", but not %1").arg(notHeld.join(QStringLiteral(", ")).toHtmlEscaped());
    }
    return text;
}

bool RaceView::showRace(int finding)
{
    if (!m_document->isLoaded() || finding < 0 || size_t(finding) >= m_document->findings().size()) {
        clear();
        return false;
    }
    const auto pair = racePairOf(m_document->model(), m_document->findings()[size_t(finding)], finding);
    if (!pair) {
        clear();
        return false;
    }
    m_finding = finding;
    for (Side side : { Earlier, Later }) {
        Column& c = m_columns[side];
        c.stack->setStack(side == Later ? pair->second.stack : pair->first.stack);
    }
    describeSides(*pair);
    for (Side side : { Earlier, Later }) {
        Column& c = m_columns[side];
        if (c.stack->rowCount() > 0) {
            const int row = c.stack->userFrameRow() >= 0 ? c.stack->userFrameRow() : 0;
            c.view->setCurrentIndex(c.stack->index(row, 0));
            showFrame(side, row);
        } else {
            c.source->showMessage(tr("No stack was recorded for this access."));
        }
    }
    return true;
}

void RaceView::describeSides(const RacePair& pair)
{
    for (Side side : { Earlier, Later }) {
        Column& c = m_columns[side];
        c.header->setText(describeAccess(*m_document, pair, side, m_resolution));
        if (!c.stack->caveat().isEmpty())
            c.header->setText(c.header->text() + QStringLiteral("<br><i>%1</i>").arg(c.stack->caveat().toHtmlEscaped()));
    }
}

void RaceView::setResolution(double resolutionNs)
{
    if (resolutionNs == m_resolution)
        return;
    m_resolution = resolutionNs;
    if (m_finding < 0 || !m_document->isLoaded() || size_t(m_finding) >= m_document->findings().size())
        return;
    if (const auto pair = racePairOf(m_document->model(), m_document->findings()[size_t(m_finding)], m_finding))
        describeSides(*pair);
}

void RaceView::clear()
{
    m_finding = -1;
    for (Column& c : m_columns) {
        c.header->clear();
        c.stack->setStack(0);
        c.source->showMessage({});
    }
}

void RaceView::showFrame(Side side, int row)
{
    Column& c = m_columns[side];
    if (row < 0 || row >= c.stack->rowCount())
        return;
    const QModelIndex i = c.stack->index(row, 0);
    QString file = i.data(StackModel::FileRole).toString();
    if (!file.isEmpty() && QFileInfo(file).isRelative())
        file = QDir::current().absoluteFilePath(file);
    c.source->showFile(file, i.data(StackModel::LineRole).toInt());
}

} // namespace ravel::gui
