"""Between `study.sweep`'s command line and the Tune glue in tuning/: its flags and their roles (`flags`), the
sweep's record (`record`), what is checked and prepared before Ray starts (`setup`), what a trial is (`job`), the
phases (`phases`), the whole command (`command`) and the end-of-sweep summary (`summary`)."""
