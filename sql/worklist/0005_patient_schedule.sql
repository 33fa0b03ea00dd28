-- Worklist store, schema version 5: when each patient's result could next change.
--
-- One row per evaluated patient: the first date at which, with no new data, the screens'
-- result could differ (a row leaves a lookback window or comes into view, a birthday), from
-- `screens.schedule`; NULL when it never could. A night with a new as_of re-evaluates only
-- patients whose data changed or whose date has come. Ids and dates only.
CREATE TABLE patient_schedule (
    patient_id TEXT NOT NULL PRIMARY KEY,
    next_change DATE,
    evaluated_as_of DATE NOT NULL
);
