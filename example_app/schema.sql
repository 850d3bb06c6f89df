-- AUTOINCREMENT: the id of a deleted user is never given to a new one, so an
-- old session or remember cookie can never name somebody else.
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    -- Changed with the password; every session and remember cookie bound to
    -- the old value stops working.
    session_token TEXT NOT NULL
);
