"""`python web_run.py`: App.run() hands the file to `fasterapi run FILE --http HOST:PORT`."""

from fasterapi import App

app = App()


@app.get("/")
def root():
    return {"ran": True}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=0, workers=1)
