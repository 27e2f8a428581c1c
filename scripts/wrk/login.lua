-- POST a login (Argon2id on the server) with $EMAIL and the load test's password.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email": "' .. os.getenv("EMAIL") .. '", "password": "load test password"}'
