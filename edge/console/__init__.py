"""工作台: the staff console, a web edge over the platform's commands and queries (docs/console.md)."""
