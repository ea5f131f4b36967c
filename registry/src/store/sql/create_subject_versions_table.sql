-- The versions of each subject; a schema appears at most once per subject.
CREATE TABLE IF NOT EXISTS subject_versions (
    subject    TEXT        NOT NULL,
    version    INTEGER     NOT NULL,
    schema_id  INTEGER     NOT NULL REFERENCES schemas (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, version),
    UNIQUE (subject, schema_id)
)
