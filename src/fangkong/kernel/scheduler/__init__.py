"""The scheduler (定时作业): registered jobs run on their schedules inside `fangkong serve`."""
