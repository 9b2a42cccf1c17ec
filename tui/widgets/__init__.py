"""Reusable widgets: the header with the connected accounts, the job progress view and the
buttons beside it."""

from tui.widgets.header import AccountsHeader, accounts_line
from tui.widgets.job_controls import JobControls
from tui.widgets.job_progress import JobProgress, format_eta

__all__ = ["AccountsHeader", "JobControls", "JobProgress", "accounts_line", "format_eta"]
