-- POST a new variable into $ENV_ID with a key no other request uses (thread id, counter, and
-- $KEY_PREFIX so several wrk processes against one installation do not collide).
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.headers["Authorization"] = "Token " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
local env = os.getenv("ENV_ID")
local prefix = os.getenv("KEY_PREFIX") or "C"
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  local key = prefix .. "_" .. tostring(tid) .. "_" .. n
  return wrk.format("POST", "/api/variables/", nil,
    '{"key": "' .. key .. '", "value": "postgresql://user:secret@db.internal:5432/' .. n .. '", "environment": ' .. env .. '}')
end
