"""feat-space Gradio app (also the Hugging Face Space entry point). Kept thin: the UI lives in feat_space."""

from feat_space.ui import build_app

if __name__ == "__main__":
    build_app().launch()
