#include "keys_dialog.hpp"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QKeySequence>
#include <QScreen>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace ravel::gui {

KeysDialog::KeysDialog(QWidget* parent)
    : QDialog(parent)
    , m_table(new QTableWidget(this))
{
    struct Key {
        QString key, what;
    };
    const QList<Key> keys = {
        { QStringLiteral("Space"), tr("Play / pause") },
        { QStringLiteral(". ,"), tr("Next / previous event of the selected thread (of all when none is selected)") },
        { QStringLiteral("Ctrl+. Ctrl+,"), tr("Next / previous event of any thread") },
        { QStringLiteral("N, Shift+N"), tr("Next / previous finding in time order (wraps around)") },
        { QStringLiteral("] ["), tr("Faster / slower replay (0.25x to 64x)") },
        { QStringLiteral("Home End"), tr("Playhead to the start / end") },
        { QStringLiteral("W S, ↑ ↓"), tr("Zoom the timeline in / out around the playhead (timeline focused)") },
        { QStringLiteral("A D, ← →"), tr("Pan the timeline earlier / later (timeline focused)") },
        { QStringLiteral("PgUp PgDn"), tr("Scroll the lanes") },
        { QStringLiteral("F, Z"), tr("Fit the run's activity / zoom to the selection") },
        { QStringLiteral("?"), tr("Keys overlay on the timeline (timeline focused); Esc clears the selection") },
        { QKeySequence(QKeySequence::Find).toString(QKeySequence::NativeText), tr("Search the findings") },
        { QKeySequence(QKeySequence::Open).toString(QKeySequence::NativeText), tr("Open a trace") },
        { QStringLiteral("Ctrl+R"), tr("Run a program under ravel") },
        { QStringLiteral("F1"), tr("This table") },
    };
    setWindowTitle(tr("ravel keys"));
    setObjectName(QStringLiteral("keysDialog"));
    m_table->setObjectName(QStringLiteral("keysTable"));
    m_table->setColumnCount(2);
    m_table->setRowCount(int(keys.size()));
    m_table->setHorizontalHeaderLabels({ tr("Key"), tr("Does") });
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->setFocusPolicy(Qt::NoFocus);
    for (int i = 0; i < keys.size(); i++) {
        m_table->setItem(i, 0, new QTableWidgetItem(keys[i].key));
        m_table->setItem(i, 1, new QTableWidgetItem(keys[i].what));
    }
    // Nothing cut: the descriptions wrap in their column, the rows grow to fit them, and the
    // table never scrolls sideways.
    m_table->setWordWrap(true);
    m_table->setTextElideMode(Qt::ElideNone);
    m_table->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_table);
    layout->addWidget(buttons);
    // Wide enough that most descriptions take one line; the height is fitted when shown, once
    // the columns have their widths.
    resize(std::max(720, m_table->fontMetrics().horizontalAdvance(QLatin1Char('x')) * 100), 400);
}

void KeysDialog::showEvent(QShowEvent* event)
{
    QDialog::showEvent(event);
    fitRows();
    // Once more after the resize has laid the table out anew.
    QMetaObject::invokeMethod(this, &KeysDialog::fitRows, Qt::QueuedConnection);
}

void KeysDialog::fitRows()
{
    // Tall enough for every row at the width the descriptions have once laid out (within the
    // screen; beyond it the table scrolls, still cutting nothing).
    m_table->resizeRowsToContents();
    int rows = m_table->horizontalHeader()->height() + 2 * m_table->frameWidth();
    for (int r = 0; r < m_table->rowCount(); r++)
        rows += m_table->rowHeight(r);
    int want = rows + (height() - m_table->height());
    if (const QScreen* s = screen())
        want = std::min(want, s->availableGeometry().height() - 80);
    if (height() != want)
        resize(width(), want);
}

} // namespace ravel::gui
