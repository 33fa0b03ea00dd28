-- Every quarantine row has a known reason (screens.model.QuarantineReason) and a source.
SELECT q.resource_type, q.source, q.reason
FROM quarantine AS q
WHERE q.source IS NULL OR q.reason NOT IN (
    'invalid_json', 'not_a_resource', 'unsupported_type', 'missing_id', 'missing_subject',
    'invalid_resource', 'invalid_date', 'bad_encoding', 'too_large', 'nested_bundle',
    'server_error', 'implausible_value'
);
