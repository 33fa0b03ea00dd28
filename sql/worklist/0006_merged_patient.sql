-- Worklist store, schema version 6: items of a patient merged into another record.
--
-- A Patient replaced by another (Patient.link replaced-by / replaces) is screened under the
-- surviving id (`pipelines.mirror.patient_merges`); the replaced patient's items resolve with
-- `merged_into` naming the survivor's patient id (NULL otherwise). Ids only.
ALTER TABLE worklist_item ADD COLUMN merged_into TEXT;
