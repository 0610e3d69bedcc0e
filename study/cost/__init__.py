"""What a run costs, measured and predicted: the memory model (`memory_model`) and the runs it is fitted to
(`measure`), the step benchmark (`bench`), and measurements in a fresh interpreter (`fresh_process`)."""
