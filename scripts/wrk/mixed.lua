-- 90% listing of $ENV_ID, 10% PATCH of variable $VAR_ID (a durable write).
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.headers["Authorization"] = "Token " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
local list = "/api/environments/" .. os.getenv("ENV_ID") .. "/variables/"
local patch = "/api/variables/" .. os.getenv("VAR_ID") .. "/"
local n = 0
request = function()
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("PATCH", patch, nil, '{"value": "rotated-' .. n .. '"}')
  end
  return wrk.format("GET", list)
end
