-- stg_note_attachment: one row per DocumentReference.content[].attachment and per
-- DiagnosticReport.presentedForm[] (attachment_pos 1..n), plus one row per DiagnosticReport
-- conclusion (attachment_pos 0, content_type 'text/plain', text in conclusion). size is the
-- attachment's own (bytes before base64): a url-only attachment left unfetched for its size.
-- pipelines/ingest/notes.py decodes these into stg_note (one row per resource with text).
-- Input: stg_input (the caller's view of staged resources). Row order: ROW_ORDER in
-- pipelines/ingest/stage.py (applied on reading).
CREATE OR REPLACE TABLE stg_note_attachment AS
WITH notes AS (
    SELECT
        res.*,
        CASE
            WHEN res.resourcetype = 'DocumentReference'
                THEN coalesce(fhir_date(res.date), fhir_date(res.context.period.start))
            ELSE coalesce(
                fhir_date(res.effectivedatetime), fhir_date(res.effectiveperiod.start),
                fhir_date(res.issued)
            )
        END AS note_on,
        CASE
            WHEN res.resourcetype = 'DocumentReference'
                THEN coalesce(res.type.text, res.type.coding[1].display, res.type.coding[1].code)
            ELSE coalesce(res.code.text, res.code.coding[1].display, res.code.coding[1].code)
        END AS note_type,
        CASE
            WHEN res.resourcetype = 'DocumentReference'
                THEN list_transform(res.content, lambda c: c.attachment)
            ELSE res.presentedform
        END AS attachments
    FROM stg_input AS res
    WHERE res.resourcetype IN ('DocumentReference', 'DiagnosticReport')
),

attached AS (
    SELECT
        notes.patient_id,
        notes.source_ref,
        notes.note_on,
        notes.note_type,
        generate_subscripts(notes.attachments, 1) AS attachment_pos,
        unnest(notes.attachments) AS att
    FROM notes
)

SELECT
    notes.patient_id AS patient_id,
    notes.source_ref AS source_ref,
    notes.note_on AS note_on,
    notes.note_type AS note_type,
    0 AS attachment_pos,
    'text/plain' AS content_type,
    NULL::VARCHAR AS data,
    NULL::VARCHAR AS url,
    NULL::BIGINT AS size,
    notes.conclusion AS conclusion
FROM notes
WHERE notes.resourcetype = 'DiagnosticReport' AND nullif(trim(notes.conclusion), '') IS NOT NULL
UNION ALL
SELECT
    attached.patient_id,
    attached.source_ref,
    attached.note_on,
    attached.note_type,
    attached.attachment_pos,
    attached.att.contenttype,
    attached.att.data,
    attached.att.url,
    attached.att.size,
    NULL::VARCHAR
FROM attached;
