"""Browser tests: nbconference in real JupyterLab pages driven by Chromium."""
