"""Worker processes of the engines that execute runs outside the web process."""
