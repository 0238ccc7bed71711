// FindingsPanel: the findings list on the left of the window: a search box over a tree grouped by
// kind. Choosing a finding focuses it (playhead, selection, details); a finding chosen elsewhere
// (playback's next finding, the command line) is shown selected here.
#pragma once

#include <QWidget>

class QLabel;
class QModelIndex;
class QLineEdit;
class QSortFilterProxyModel;
class QStackedWidget;
class QTreeView;

namespace ravel::gui {

class FindingsModel;
class TraceDocument;
class ViewState;

class FindingsPanel : public QWidget {
    Q_OBJECT
public:
    FindingsPanel(TraceDocument* document, ViewState* state, QWidget* parent = nullptr);

    FindingsModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTreeView* view() const { return m_view; }
    QLineEdit* searchBox() const { return m_search; }

private:
    void onCurrentChanged();
    void chooseFinding(const QModelIndex& index);
    void showFinding(int index);
    void updatePlaceholder();

    TraceDocument* m_document;
    ViewState* m_state;
    FindingsModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QLineEdit* m_search;
    QTreeView* m_view;
    QLabel* m_placeholder;
    QStackedWidget* m_stack;
};

} // namespace ravel::gui
