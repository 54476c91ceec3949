"""Backup and restore (备份与恢复)."""
