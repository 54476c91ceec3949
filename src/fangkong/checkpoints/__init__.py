"""Checkpoints (卡口): inspection records, shift counts, point-to-point trips (点对点闭环), stranded
vehicles at service areas and the data closed loop (数据闭环). Truck e-passes live in `epass/`."""
