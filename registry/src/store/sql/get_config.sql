SELECT compatibility FROM config WHERE subject = $1
