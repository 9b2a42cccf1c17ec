"""The app's screens. Import them from their modules (`tui.screens.overview`…): each one
is loaded only by whoever routes to it."""
