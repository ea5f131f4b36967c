SELECT schema_type, schema_text FROM schemas WHERE id = $1
