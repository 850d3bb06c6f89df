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

-- The staff area's accounts, logged in through the "staff" realm. A table of
-- their own, numbered separately: staff member 1 and customer 1 are different
-- people, and the realms keep their logins apart (see staff.py).
CREATE TABLE IF NOT EXISTS staff (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    session_token TEXT NOT NULL
);
