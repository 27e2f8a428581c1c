-- PATCH one of the variables in $VAR_IDS (comma-separated), one per wrk connection in turn:
-- durable writes spread over several organizations (each write is one audit entry).
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.headers["Authorization"] = "Token " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
local ids = {}
for id in string.gmatch(os.getenv("VAR_IDS"), "[^,]+") do ids[#ids + 1] = id end
local n = 0
request = function()
  n = n + 1
  local id = ids[(n % #ids) + 1]
  return wrk.format("PATCH", "/api/variables/" .. id .. "/", nil, '{"value": "v-' .. n .. '"}')
end
