"""The status bar: what the analysis is doing (text and progress bar), the song counts, the device.

:class:`StatusArea` only shows what it is told; the window feeds it from the
:class:`~musicsim.app.analysis_controller.AnalysisController`'s signals.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from musicsim.app.worker import Job
from musicsim.formatting import format_eta
from musicsim.library.records import AnalysisProgress, AnalysisReport, SyncReport


class StatusArea:
    """Widgets added to ``bar``: progress bar and status text on the left, counts and device on the right."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.label = QLabel()
        self.counts_label = QLabel()
        self.device_label = QLabel("Analysis device: …")
        for label in (self.label, self.counts_label, self.device_label):
            label.setContentsMargins(6, 0, 6, 0)
        bar.addWidget(self.progress_bar)
        bar.addWidget(self.label, 1)
        bar.addPermanentWidget(self.counts_label)
        bar.addPermanentWidget(self.device_label)

    def text(self) -> str:
        return self.label.text()

    def show_text(self, text: str) -> None:
        self.label.setText(text)

    def flash(self, text: str, msecs: int = 8000) -> None:
        """A passing message (over the status text, for ``msecs``)."""
        self.bar.showMessage(text, msecs)

    def show_device(self, device: str) -> None:
        self.device_label.setText(f"Analysis device: {device}")

    def show_counts(self, counts: dict[str, int]) -> None:
        text = f"{counts['tracks']:,} songs · {counts['analysed']:,} analysed"
        if counts.get("failed"):
            text += f" · {counts['failed']:,} problems"
        self.counts_label.setText(text)

    # -- a run, start to end ---------------------------------------------------------------------
    def started(self, job: Job) -> None:
        self.label.setText("Reading tags…" if job.sync else "Resuming analysis…")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()

    def sync_progress(self, count: int) -> None:
        self.label.setText(f"Reading tags… {count:,} songs")

    def synced(self, report: SyncReport) -> None:
        if report.cancelled:
            return
        parts = [f"{report.added:,} new", f"{report.changed:,} changed", f"{report.removed:,} removed"]
        if report.skipped:
            parts.append(f"{report.skipped:,} skipped")
        self.flash("Folder read: " + ", ".join(parts))

    def progress(self, p: AnalysisProgress) -> None:
        self.progress_bar.setRange(0, max(1, p.total))
        self.progress_bar.setValue(p.done)
        self.progress_bar.setFormat(f"{p.done:,} / {p.total:,}")
        failed = f" · {p.failed:,} could not be analysed" if p.failed else ""
        self.label.setText(f"Analysing {p.done:,} of {p.total:,} songs{failed} · {format_eta(p.eta_s)}")
        self.label.setToolTip(p.current_path or "")

    def finished(self, report: AnalysisReport | None, error: str | None, paused: bool, pending: int) -> None:
        """A run ended: why, and what is left."""
        self.progress_bar.hide()
        self.label.setToolTip("")
        if error:
            self.label.setText("Analysis could not run (see the message above).")
        elif paused:
            self.label.setText(f"Analysis paused · {pending:,} songs still to analyse")
        elif report is not None and report.cancelled:
            self.label.setText(f"Analysis stopped · {pending:,} songs still to analyse. Rescan to continue.")
        elif report is not None:
            failed = f", {report.failed:,} could not be analysed" if report.failed else ""
            self.label.setText(f"Up to date · analysed {report.analysed:,} songs in {report.elapsed_s:.0f} s{failed}")
        else:
            self.label.setText("Up to date")
