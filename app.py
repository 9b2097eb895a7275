"""feat-space Gradio app (also the Hugging Face Space entry point). Kept thin: the UI lives in feat_space.ui.

python app.py                      # real models (downloaded on first use)
FEAT_PROFILE=tiny python app.py    # offline smoke demo with untrained models
"""

from feat_space.ui import launch

if __name__ == "__main__":
    launch()
