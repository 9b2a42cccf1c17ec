"""Reusable widgets: the header with the connected accounts, the job progress view and the
buttons beside it. Import them from their modules (`tui.widgets.header`…): the job's widgets
are loaded only after the first frame."""
