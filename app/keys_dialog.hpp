// KeysDialog: Help > Keys (F1), every key of the window and what it does, in a two-column table
// whose descriptions wrap in their column: nothing is cut at any size the dialog can take, and at
// its opening size every row is shown without scrolling.
#pragma once

#include <QDialog>

class QTableWidget;

namespace ravel::gui {

class KeysDialog : public QDialog {
    Q_OBJECT
public:
    explicit KeysDialog(QWidget* parent = nullptr);

    QTableWidget* table() const { return m_table; }

protected:
    void showEvent(QShowEvent* event) override;

private:
    void fitRows();

    QTableWidget* m_table;
};

} // namespace ravel::gui
