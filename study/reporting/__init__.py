"""A sweep's report: its sections (one module each, listed in `writer.SECTIONS`), the trials they read (`trials`),
statistics (`statistics`), figures (`plots`) and the paper's Table 2 (`paper`). Reads the sweep directory; Ray-free."""
