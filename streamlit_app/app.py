"""Ganvas's app: manage runs, watch training live, generate per label, colorize photos, judge.

    streamlit run streamlit_app/app.py --server.address 127.0.0.1

It reads the run directories under GANVAS_RUNS_DIR (default: runs/) and the classifiers under
GANVAS_CLASSIFIERS_DIR (default: classifiers/), relative to the directory it is started from.
"""

import sys
from pathlib import Path

# `streamlit run` puts only this folder on the path; the pages import the trainer's modules.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402

from streamlit_app import access  # noqa: E402

st.set_page_config(page_title="Ganvas", page_icon="🎨", layout="wide")
pages = [
    st.Page("runs_page.py", title="Runs", icon=":material/list:", default=True),
    st.Page("training_page.py", title="Training", icon=":material/monitoring:", url_path="training"),
    st.Page("generate_page.py", title="Generate", icon=":material/grid_view:", url_path="generate"),
    st.Page("colorize_page.py", title="Colorize", icon=":material/palette:", url_path="colorize"),
    st.Page("classifier_page.py", title="Classifier", icon=":material/fact_check:", url_path="classifier"),
]
navigation = st.navigation(pages)
access.sidebar()  # on a shared app, the token's input, on every page
navigation.run()
