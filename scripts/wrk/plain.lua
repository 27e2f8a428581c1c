dofile(os.getenv("WRK_DIR") .. "/report.lua")
