"""Intake: outside files (case exports, the compound register, boundaries) into the model.

Every import follows the same path: read the file (:mod:`.readers`), map its
headers (:mod:`.headers`), parse and check values in pandas, vectorized
(:mod:`.parse`, :mod:`.locate`, :mod:`.routing`), put the bad rows aside with a
Chinese reason (:mod:`.quarantine`), COPY the good ones into a staging table
(:mod:`._copy`) and merge them with one set-based ``INSERT ... SELECT ...
ON CONFLICT``, all inside one transaction, accounted for in ``imports``
(:mod:`.accounting`). The entry points are :func:`etl.intake.cases.import_cases`,
:func:`etl.intake.compounds.import_compounds` and
:func:`etl.intake.boundaries.import_boundaries`.
"""
