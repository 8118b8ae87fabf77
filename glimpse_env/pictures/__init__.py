"""The picture side: episode frames (numpy), a bitmap font, GIF recording and the pygame window.

Imports the core only (never a face): :mod:`~glimpse_env.pictures.raster` draws into arrays,
:mod:`~glimpse_env.pictures.render` lays out an episode frame from the core's state,
:mod:`~glimpse_env.pictures.recording` writes GIFs, :mod:`~glimpse_env.pictures.window` shows
frames with pygame (imported lazily).
"""
