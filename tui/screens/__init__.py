"""One module per screen; ``common`` holds what they share (the summary bar, row syncing, dialogs)."""
