#include "launch/run_program_dialog.hpp"

#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardPaths>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <iterator>

namespace ravel::gui {

namespace {

const QString kRecentKey = QStringLiteral("run/recent");

QString quoted(const QStringList& args)
{
    QStringList out;
    for (QString a : args) {
        if (a.isEmpty() || a.contains(QRegularExpression(QStringLiteral("[\\s\"]")))) {
            a.replace(QLatin1Char('"'), QLatin1String("\"\"\""));
            a = QLatin1Char('"') + a + QLatin1Char('"');
        }
        out << a;
    }
    return out.join(QLatin1Char(' '));
}

} // namespace

RunProgramDialog::RunProgramDialog(QWidget* parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Run Program"));
    setObjectName(QStringLiteral("runProgramDialog"));

    m_program = new QComboBox(this);
    m_program->setObjectName(QStringLiteral("program"));
    m_program->setEditable(true);
    m_program->setInsertPolicy(QComboBox::NoInsert);
    // As wide as its placeholder: the hint is read whole.
    m_program->setMinimumContentsLength(56);
    m_program->lineEdit()->setPlaceholderText(tr("program to run under ravel (a path, or a name in PATH)"));
    auto* browse = new QPushButton(tr("Browse…"), this);
    auto* programRow = new QHBoxLayout;
    programRow->addWidget(m_program, 1);
    programRow->addWidget(browse);

    m_arguments = new QLineEdit(this);
    m_arguments->setObjectName(QStringLiteral("arguments"));
    m_arguments->setPlaceholderText(tr("arguments, split as a shell would (quotes group words)"));

    m_directory = new QLineEdit(this);
    m_directory->setObjectName(QStringLiteral("workingDirectory"));
    m_directory->setPlaceholderText(QDir::currentPath());
    auto* browseDir = new QPushButton(tr("Browse…"), this);
    auto* dirRow = new QHBoxLayout;
    dirRow->addWidget(m_directory, 1);
    dirRow->addWidget(browseDir);

    m_environment = new QTableWidget(0, 2, this);
    m_environment->setObjectName(QStringLiteral("environment"));
    m_environment->setHorizontalHeaderLabels({ tr("Variable"), tr("Value") });
    m_environment->horizontalHeader()->setStretchLastSection(true);
    m_environment->verticalHeader()->hide();
    m_environment->setMinimumHeight(110);
    auto* add = new QPushButton(tr("Add"), this);
    auto* remove = new QPushButton(tr("Remove"), this);
    auto* envButtons = new QVBoxLayout;
    envButtons->addWidget(add);
    envButtons->addWidget(remove);
    envButtons->addStretch();
    auto* envRow = new QHBoxLayout;
    envRow->addWidget(m_environment, 1);
    envRow->addLayout(envButtons);

    m_trace = new QLineEdit(this);
    m_trace->setObjectName(QStringLiteral("traceFile"));
    m_trace->setPlaceholderText(tr("where the trace is written"));
    // A path longer than the field shows its end; the tooltip has it whole.
    connect(m_trace, &QLineEdit::textChanged, m_trace, &QLineEdit::setToolTip);
    // Wide enough for the suggested path (the runs folder and a dated name) as it is.
    m_trace->setMinimumWidth(
        std::min(900, m_trace->fontMetrics().horizontalAdvance(defaultTracePath(QStringLiteral("program"))) + 16));
    auto* browseTrace = new QPushButton(tr("Browse…"), this);
    auto* traceRow = new QHBoxLayout;
    traceRow->addWidget(m_trace, 1);
    traceRow->addWidget(browseTrace);

    m_problem = new QLabel(this);
    m_problem->setObjectName(QStringLiteral("problem"));
    m_problem->setWordWrap(true);
    QPalette warn = m_problem->palette();
    warn.setColor(QPalette::WindowText, QColor(0xd6, 0x27, 0x28));
    m_problem->setPalette(warn);
    m_problem->hide();

    auto* note = new QLabel(tr("Recorded as <tt>ravel run</tt> records it; a deadlock is reported the moment the "
                               "watchdog sees it."),
        this);
    note->setWordWrap(true);

    // Rows whose field is a layout get their label's buddy set by hand, or the '&' shows.
    auto label = [this](const QString& text, QWidget* buddy) {
        auto* l = new QLabel(text, this);
        l->setBuddy(buddy);
        return l;
    };
    auto* form = new QFormLayout;
    form->addRow(label(tr("&Program:"), m_program), programRow);
    form->addRow(tr("&Arguments:"), m_arguments);
    form->addRow(label(tr("&Working directory:"), m_directory), dirRow);
    form->addRow(label(tr("&Environment:"), m_environment), envRow);
    form->addRow(label(tr("&Trace file:"), m_trace), traceRow);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("Run"));
    m_ok->setDefault(true);
    // Enter runs, wherever the focus is; a Browse… is pressed only with Space or a click.
    for (QPushButton* b : { browse, browseDir, browseTrace, add, remove })
        b->setAutoDefault(false);
    // The fields in reading order, then the buttons beside them: Tab from Program is Arguments.
    QWidget* order[] = { m_program, m_arguments, m_directory, m_environment, m_trace, m_ok,
                         buttons->button(QDialogButtonBox::Cancel), browse, browseDir, add, remove, browseTrace };
    for (size_t i = 0; i + 1 < std::size(order); i++)
        setTabOrder(order[i], order[i + 1]);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(note);
    layout->addWidget(m_problem);
    layout->addWidget(buttons);

    connect(browse, &QPushButton::clicked, this, &RunProgramDialog::chooseProgram);
    connect(browseDir, &QPushButton::clicked, this, &RunProgramDialog::chooseDirectory);
    connect(browseTrace, &QPushButton::clicked, this, &RunProgramDialog::chooseTrace);
    connect(add, &QPushButton::clicked, this, [this] { addVariable(); });
    connect(remove, &QPushButton::clicked, this, [this] {
        int row = m_environment->currentRow();
        if (row >= 0)
            m_environment->removeRow(row);
    });
    connect(buttons, &QDialogButtonBox::accepted, this, &RunProgramDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &RunProgramDialog::reject);
    connect(m_program, &QComboBox::editTextChanged, this, &RunProgramDialog::updateOk);
    // The suggested trace follows the program until the user types or chooses another.
    connect(m_program, &QComboBox::editTextChanged, this, [this](const QString& program) {
        if (!m_traceChosen)
            m_trace->setText(defaultTracePath(program));
    });
    connect(m_trace, &QLineEdit::textEdited, this, [this] { m_traceChosen = true; });

    m_recent = recentRequests();
    for (const RunRequest& r : m_recent)
        m_program->addItem(r.displayLine(), r.program);
    connect(m_program, &QComboBox::activated, this, &RunProgramDialog::recentChosen);
    if (!m_recent.isEmpty())
        setRequest(m_recent.first());
    else
        m_program->setEditText(QString());
    if (m_trace->text().isEmpty())
        m_trace->setText(defaultTracePath(m_program->currentText()));
    updateOk();
}

RunRequest RunProgramDialog::request() const
{
    RunRequest r;
    r.program = m_program->currentText().trimmed();
    r.arguments = QProcess::splitCommand(m_arguments->text());
    r.workingDirectory = m_directory->text().trimmed();
    for (int row = 0; row < m_environment->rowCount(); row++) {
        QTableWidgetItem* name = m_environment->item(row, 0);
        QTableWidgetItem* value = m_environment->item(row, 1);
        QString n = name ? name->text().trimmed() : QString();
        if (!n.isEmpty())
            r.environment << n + QLatin1Char('=') + (value ? value->text() : QString());
    }
    return r;
}

void RunProgramDialog::setRequest(const RunRequest& r)
{
    m_program->setEditText(r.program);
    m_arguments->setText(quoted(r.arguments));
    m_directory->setText(r.workingDirectory);
    m_environment->setRowCount(0);
    for (const QString& entry : r.environment) {
        qsizetype eq = entry.indexOf(QLatin1Char('='));
        addVariable(eq < 0 ? entry : entry.left(eq), eq < 0 ? QString() : entry.mid(eq + 1));
    }
    updateOk();
}

void RunProgramDialog::recentChosen(int index)
{
    if (index >= 0 && index < m_recent.size())
        setRequest(m_recent[index]);
}

void RunProgramDialog::addVariable(const QString& name, const QString& value)
{
    int row = m_environment->rowCount();
    m_environment->insertRow(row);
    m_environment->setItem(row, 0, new QTableWidgetItem(name));
    m_environment->setItem(row, 1, new QTableWidgetItem(value));
    if (name.isEmpty())
        m_environment->editItem(m_environment->item(row, 0));
}

void RunProgramDialog::chooseProgram()
{
    QString start = QFileInfo(m_program->currentText()).absolutePath();
    QString path = QFileDialog::getOpenFileName(this, tr("Program to Run"), start);
    if (!path.isEmpty())
        m_program->setEditText(path);
}

void RunProgramDialog::chooseDirectory()
{
    QString dir = QFileDialog::getExistingDirectory(this, tr("Working Directory"), m_directory->text());
    if (!dir.isEmpty())
        m_directory->setText(dir);
}

QString RunProgramDialog::tracePath() const
{
    return m_trace->text().trimmed();
}

void RunProgramDialog::setTracePath(const QString& path)
{
    m_trace->setText(path);
    m_traceChosen = true;
}

QString RunProgramDialog::defaultTracePath(const QString& program)
{
    // The folder of the last run's trace, else the application's own; named after the program.
    QString dir = QSettings().value(QStringLiteral("run/traceDirectory")).toString();
    if (dir.isEmpty() || !QFileInfo(dir).isDir()) {
        dir = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + QStringLiteral("/runs");
        QDir().mkpath(dir);
        // Traces hold command lines and stacks: the folder is the user's alone (docs/trace-format.md).
        QFile::setPermissions(dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    }
    QString name = QFileInfo(program.trimmed()).fileName();
    if (name.isEmpty())
        name = QStringLiteral("run");
    return QStringLiteral("%1/%2.%3.ravel")
        .arg(dir, name, QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-hhmmss")));
}

void RunProgramDialog::chooseTrace()
{
    QString path = QFileDialog::getSaveFileName(this, tr("Trace File"), m_trace->text(), tr("ravel traces (*.ravel)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".ravel");
    m_trace->setText(path);
    m_traceChosen = true;
}

void RunProgramDialog::updateOk()
{
    if (m_ok)
        m_ok->setEnabled(!m_program->currentText().trimmed().isEmpty());
    m_problem->hide();
}

QString RunProgramDialog::problem(const RunRequest& r)
{
    if (r.program.isEmpty())
        return tr("No program given.");
    QString dir = r.workingDirectory.isEmpty() ? QDir::currentPath() : r.workingDirectory;
    if (!r.workingDirectory.isEmpty() && !QFileInfo(r.workingDirectory).isDir())
        return tr("The working directory %1 does not exist.").arg(r.workingDirectory);
    if (r.program.contains(QLatin1Char('/'))) {
        // A relative path is relative to the working directory, as for a shell started there.
        QFileInfo f(QDir(dir).filePath(r.program));
        if (!f.exists())
            return tr("%1: no such file.").arg(f.filePath());
        if (f.isDir() || !f.isExecutable())
            return tr("%1: not an executable program.").arg(f.filePath());
    } else if (QStandardPaths::findExecutable(r.program).isEmpty()) {
        return tr("%1: not found in PATH.").arg(r.program);
    }
    static const QRegularExpression name(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
    for (const QString& entry : r.environment) {
        QString n = entry.left(entry.indexOf(QLatin1Char('=')));
        if (!name.match(n).hasMatch())
            return tr("'%1' is not a valid environment variable name.").arg(n);
    }
    return {};
}

void RunProgramDialog::accept()
{
    RunRequest r = request();
    QString why = problem(r);
    if (!why.isEmpty()) {
        m_problem->setText(why);
        m_problem->show();
        return;
    }
    const QString trace = tracePath();
    QString traceProblem;
    if (trace.isEmpty())
        traceProblem = tr("No trace file given.");
    else if (!QFileInfo(QFileInfo(trace).absolutePath()).isDir())
        traceProblem = tr("The folder %1 for the trace does not exist.").arg(QFileInfo(trace).absolutePath());
    else if (QFileInfo(trace).isDir())
        traceProblem = tr("%1 is a folder, not a trace file.").arg(trace);
    if (!traceProblem.isEmpty()) {
        m_problem->setText(traceProblem);
        m_problem->show();
        return;
    }
    remember(r);
    QSettings().setValue(QStringLiteral("run/traceDirectory"), QFileInfo(trace).absolutePath());
    QDialog::accept();
}

QList<RunRequest> RunProgramDialog::recentRequests()
{
    QList<RunRequest> out;
    QSettings settings;
    for (const QVariant& v : settings.value(kRecentKey).toList()) {
        RunRequest r = RunRequest::fromVariant(v.toMap());
        if (!r.program.isEmpty())
            out << r;
    }
    return out;
}

void RunProgramDialog::remember(const RunRequest& request)
{
    QList<RunRequest> recent = recentRequests();
    recent.removeAll(request);
    recent.prepend(request);
    QVariantList list;
    for (int i = 0; i < recent.size() && i < kRecent; i++)
        list << recent[i].toVariant();
    QSettings settings;
    settings.setValue(kRecentKey, list);
}

} // namespace ravel::gui
