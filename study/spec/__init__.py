"""The study language: a YAML spec read (`files`), scaled (`scales`), its datasets swapped for stand-ins
(`stand_ins`), checked and built into a `Study` (`parse`, `settings`, `points`, `ranges`; `definition`), with a
conditional search space (`space`) of parameters whose domain types are one table (`domains`). Ray-free."""
