-- Worklist store, schema version 4: the work directory that writes this store.
--
-- One row at most. A run records its work directory's id (a random id kept in the work
-- directory, so a moved or restored directory keeps it) and refuses to publish when another
-- work directory owns the store: two mirrors feeding one store would let an older run
-- overwrite a newer worklist. `path` and `host` are shown to the operator, never compared.
CREATE TABLE store_owner (
    singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    workdir_id TEXT NOT NULL,
    path TEXT NOT NULL,
    host TEXT NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    last_run_at TIMESTAMP NOT NULL
);
