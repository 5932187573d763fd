-- person.lua: prepended to the scripts that read or write a participant's
-- record, which is a field of their person hash (hints.go: recordField,
-- which TestScriptsNameTheRecordField holds equal to this).

local PERSON_RECORD = 'r'

