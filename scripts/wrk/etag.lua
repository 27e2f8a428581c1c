-- GET the path in $TARGET with the token in $TOKEN and If-None-Match: $ETAG (a poller whose
-- copy is current: every answer is 304).
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.headers["Authorization"] = "Token " .. os.getenv("TOKEN")
wrk.headers["If-None-Match"] = os.getenv("ETAG")
local target = os.getenv("TARGET")
request = function() return wrk.format("GET", target) end
