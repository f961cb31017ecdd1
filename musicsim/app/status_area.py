"""The status bar: what the analysis is doing (text and progress bar), the song counts, the device.

:class:`StatusArea` only shows what it is told; the window feeds it from the
:class:`~musicsim.app.analysis_controller.AnalysisController`'s signals.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from musicsim.app.worker import Job
from musicsim.formatting import format_eta
from musicsim.library.records import AnalysisProgress, AnalysisReport, SyncReport


MIN_MESSAGE_MS = 2500  # a passing message stays at least this long before the next one replaces it


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
        # passing messages get a label of their own: QStatusBar.showMessage would hide the progress bar
        self.message_label = QLabel()
        self.message_label.setStyleSheet("font-weight: bold;")
        self.message_label.hide()
        self._message_timer = QTimer(bar, singleShot=True)
        self._message_timer.timeout.connect(self._on_message_timer)
        self._message_since = 0.0  # when the message showing now appeared (monotonic seconds)
        self._message_msecs = 0
        self._pending: list[tuple[str, int]] = []  # messages waiting for the one showing to have been read
        for label in (self.label, self.message_label, self.counts_label, self.device_label):
            label.setContentsMargins(6, 0, 6, 0)
        bar.addWidget(self.progress_bar)
        bar.addWidget(self.label, 1)
        bar.addPermanentWidget(self.message_label)
        bar.addPermanentWidget(self.counts_label)
        bar.addPermanentWidget(self.device_label)

    def text(self) -> str:
        return self.label.text()

    def show_text(self, text: str) -> None:
        self.label.setText(text)

    def flash(self, text: str, msecs: int = 8000) -> None:
        """A passing message beside the status text for ``msecs`` (the progress bar stays in view).

        A message is shown at least :data:`MIN_MESSAGE_MS` before the next one replaces it (e.g. "2 songs of
        your queue were left out" is not wiped by the "Folder read" that follows a moment later).
        """
        shown_ms = (time.monotonic() - self._message_since) * 1000
        if self.message_label.isVisibleTo(self.bar) and shown_ms < MIN_MESSAGE_MS:
            if text != self.message_label.text() and all(text != t for t, _ in self._pending):
                self._pending.append((text, msecs))
                self._message_timer.start(max(1, int(MIN_MESSAGE_MS - shown_ms)))
            return
        self._show_message(text, msecs)

    def _show_message(self, text: str, msecs: int) -> None:
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.message_label.show()
        self._message_since = time.monotonic()
        self._message_msecs = msecs
        self._message_timer.start(msecs if not self._pending else MIN_MESSAGE_MS)

    def _on_message_timer(self) -> None:
        if self._pending:
            self._show_message(*self._pending.pop(0))
        elif (time.monotonic() - self._message_since) * 1000 >= self._message_msecs - 50:
            self.message_label.hide()
        else:  # a message that waited its turn: the rest of its own time
            self._message_timer.start(int(self._message_msecs - (time.monotonic() - self._message_since) * 1000))

    def message(self) -> str:
        """The passing message shown now ("" when none)."""
        return self.message_label.text() if self.message_label.isVisibleTo(self.bar) else ""

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
        if not (report.added or report.changed or report.removed or report.skipped):
            self.flash("Folder read: nothing changed", 4000)
            return
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
        elif report is not None and (report.analysed or report.failed):
            failed = f", {report.failed:,} could not be analysed" if report.failed else ""
            self.label.setText(f"Up to date · analysed {report.analysed:,} songs in {report.elapsed_s:.0f} s{failed}")
        else:
            self.label.setText("Up to date")
