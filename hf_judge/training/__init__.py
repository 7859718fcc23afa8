"""Building judge data sets, extracting features, training and calibrating heads, exporting them with a model card."""
