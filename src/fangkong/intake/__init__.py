"""Key-person intake (重点人员排查): leads from every channel → one person → decision → verification → measure."""
