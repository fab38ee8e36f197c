"""Reading and writing image files (:mod:`neuralstyle.io.images`)."""
