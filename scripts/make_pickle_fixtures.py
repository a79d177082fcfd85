"""Writes the two torch.save files the tests use to check that a PyTorch pickle given as a
checkpoint is recognised (Tests/MobileNetTests/Fixtures/pytorch/): the zip format (the
default of torch.save) and the legacy bare pickle. Run once: python3 scripts/make_pickle_fixtures.py"""
import os
import torch

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "MobileNetTests", "Fixtures", "pytorch")
os.makedirs(out, exist_ok=True)
state = {"linear.weight": torch.zeros(2, 3), "linear.bias": torch.zeros(2)}
torch.save(state, os.path.join(out, "state_dict_zip.pt"))
torch.save(state, os.path.join(out, "state_dict_legacy.pt"), _use_new_zipfile_serialization=False)
