SELECT id FROM schemas WHERE fingerprint = $1
