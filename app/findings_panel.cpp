#include "findings_panel.hpp"

#include "models/finding_focus.hpp"
#include "models/findings_model.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QTreeView>
#include <QVBoxLayout>

namespace ravel::gui {

namespace {

// The findings list through the search: a group's title counts what the search left of it
// ("Misuse (1 of 3)"), not what it had.
class FindingsFilter : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    QVariant data(const QModelIndex& index, int role) const override
    {
        if (role == Qt::DisplayRole && index.isValid() && !index.parent().isValid() && index.column() == 0
            && !filterRegularExpression().pattern().isEmpty()) {
            const QModelIndex source = mapToSource(index);
            const int all = sourceModel()->rowCount(source);
            const int shown = rowCount(index);
            if (shown != all)
                return QStringLiteral("%1 (%2 of %3)")
                    .arg(FindingsModel::groupTitle(FindingsModel::Group(source.data(FindingsModel::GroupRole).toInt())))
                    .arg(shown)
                    .arg(all);
        }
        return QSortFilterProxyModel::data(index, role);
    }
};

} // namespace

FindingsPanel::FindingsPanel(TraceDocument* document, ViewState* state, QWidget* parent)
    : QWidget(parent)
    , m_document(document)
    , m_state(state)
    , m_model(new FindingsModel(document, this))
    , m_proxy(new FindingsFilter(this))
    , m_search(new QLineEdit(this))
    , m_view(new QTreeView(this))
    , m_placeholder(new QLabel(this))
    , m_stack(new QStackedWidget(this))
{
    m_proxy->setSourceModel(m_model);
    m_proxy->setFilterRole(FindingsModel::SearchTextRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    // A group stays while one of its findings matches.
    m_proxy->setRecursiveFilteringEnabled(true);

    m_search->setPlaceholderText(tr("Search findings (kind, thread, object)…"));
    // A narrow dock elides the hint; the tooltip has it whole.
    m_search->setToolTip(tr("Search findings by number, kind, title, thread or object (Ctrl+F)"));
    m_search->setClearButtonEnabled(true);
    connect(m_search, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        m_view->expandAll();
        updatePlaceholder();
    });

    m_view->setModel(m_proxy);
    m_view->setUniformRowHeights(true);
    m_view->setAllColumnsShowFocus(true);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->setSectionResizeMode(FindingsModel::TitleColumn, QHeaderView::Stretch);
    m_view->header()->setSectionResizeMode(FindingsModel::TimeColumn, QHeaderView::ResizeToContents);
    // Long titles elide; the tooltip has the whole title and the finding's notes.
    m_view->setTextElideMode(Qt::ElideRight);
    m_view->setObjectName(QStringLiteral("findingsView"));
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, &FindingsPanel::onCurrentChanged);
    // A click, a double-click or Enter on a finding, the selected one too, brings it back:
    // playhead, selection and view, however far the user has wandered since.
    connect(m_view, &QTreeView::clicked, this, &FindingsPanel::chooseFinding);
    connect(m_view, &QTreeView::doubleClicked, this, &FindingsPanel::chooseFinding);
    connect(m_view, &QTreeView::activated, this, &FindingsPanel::chooseFinding);

    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_placeholder->setForegroundRole(QPalette::PlaceholderText);
    m_placeholder->setObjectName(QStringLiteral("findingsPlaceholder"));

    m_stack->addWidget(m_view);
    m_stack->addWidget(m_placeholder);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_search);
    layout->addWidget(m_stack);

    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        m_view->expandAll();
        updatePlaceholder();
    });
    connect(state, &ViewState::findingSelected, this, &FindingsPanel::showFinding);
    updatePlaceholder();
}

void FindingsPanel::updatePlaceholder()
{
    if (!m_document->isLoaded()) {
        m_placeholder->setText(tr("No trace open."));
        m_stack->setCurrentWidget(m_placeholder);
    } else if (m_model->findingCount() == 0) {
        m_placeholder->setText(tr("No findings: no deadlock, potential deadlock, data race or misuse in this run."));
        m_stack->setCurrentWidget(m_placeholder);
    } else if (m_proxy->rowCount() == 0) {
        m_placeholder->setText(tr("No finding matches “%1”.").arg(m_search->text()));
        m_stack->setCurrentWidget(m_placeholder);
    } else {
        m_stack->setCurrentWidget(m_view);
    }
}

void FindingsPanel::onCurrentChanged()
{
    const QModelIndex current = m_view->currentIndex();
    if (!current.isValid())
        return;
    const int finding = current.data(FindingsModel::FindingIndexRole).toInt();
    if (finding >= 0 && finding != m_state->selectedFinding())
        focusFinding(*m_document, *m_state, finding);
}

void FindingsPanel::chooseFinding(const QModelIndex& index)
{
    if (!index.isValid())
        return;
    const int finding = index.data(FindingsModel::FindingIndexRole).toInt();
    if (finding >= 0)
        focusFinding(*m_document, *m_state, finding);
}

void FindingsPanel::showFinding(int index)
{
    if (index < 0) {
        m_view->selectionModel()->clearSelection();
        return;
    }
    const QModelIndex source = m_model->indexOfFinding(index);
    QModelIndex proxyIndex = m_proxy->mapFromSource(source);
    if (!proxyIndex.isValid()) {
        // Hidden by the search: a finding chosen elsewhere must be visible, so the search yields.
        m_search->clear();
        proxyIndex = m_proxy->mapFromSource(source);
    }
    if (proxyIndex.isValid() && proxyIndex != m_view->currentIndex()) {
        m_view->selectionModel()->setCurrentIndex(
            proxyIndex, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        m_view->scrollTo(proxyIndex);
    }
}

} // namespace ravel::gui
