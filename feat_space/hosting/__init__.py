"""Hosting the app as a Space: what serving visitors needs, apart from any tab's layout or events.

`spaces`: Hugging Face Spaces and ZeroGPU (the GPU decorator, models placed before launch, whether
sign-in is on); `visitor_files`: how long visitors' files are kept, and none left after
SIGTERM/SIGINT/exit; `storage`: signed-in visitors' trained edits kept across restarts where the
Space has persistent storage; `saved_edits`: what a visitor's saved edits are and what the panel
says of them. The tabs (`ui`) use these; nothing here knows a tab.
"""
