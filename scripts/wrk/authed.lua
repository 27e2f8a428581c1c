-- GET the path in $TARGET with the token in $TOKEN.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.headers["Authorization"] = "Token " .. os.getenv("TOKEN")
local target = os.getenv("TARGET")
request = function() return wrk.format("GET", target) end
