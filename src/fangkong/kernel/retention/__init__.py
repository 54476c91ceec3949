"""Retention per data kind (数据保存期限): what is deleted or anonymised, and when."""
