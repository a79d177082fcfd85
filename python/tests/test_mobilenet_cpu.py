"""mobilenet_cpu against the golden fixture the Swift tests use.

    python3 -m unittest discover -s python/tests      (or: make test-python)

Tests/MobileNetTests/Fixtures/mobilenet_v1_w025.safetensors holds a width-0.25 model's
initial weights (``init.<state_dict name>``), a batch of 4 images and the logits PyTorch
gave for them in training mode and then in eval mode. Needs torch, safetensors, numpy.
"""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
FIXTURE = os.path.join(HERE, "..", "..", "Tests", "MobileNetTests", "Fixtures", "mobilenet_v1_w025.safetensors")

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

import mobilenet_cpu  # noqa: E402


class MobileNetCPUTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        golden = load_file(FIXTURE)
        cls.golden = golden
        cls.state = {name[len("init."):]: t for name, t in golden.items() if name.startswith("init.")}

    def test_state_dict_names_and_shapes_are_the_fixtures(self):
        ours = mobilenet_cpu.MobileNetV1(num_classes=10, alpha=0.25).state_dict()
        self.assertEqual(sorted(ours), sorted(self.state))
        for name, tensor in ours.items():
            self.assertEqual(tuple(tensor.shape), tuple(self.state[name].shape), name)
            self.assertEqual(tensor.dtype, self.state[name].dtype, name)

    def test_strict_load_gives_the_golden_logits(self):
        net = mobilenet_cpu.MobileNetV1(num_classes=10, alpha=0.25)
        net.load_state_dict(self.state, strict=True)
        images = self.golden["batch.input"]
        with torch.no_grad():
            net.train()
            train_logits = net(images)   # also updates the running statistics, as the golden run did
            net.eval()
            eval_logits = net(images)
        torch.testing.assert_close(train_logits, self.golden["step0.logits_train"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(eval_logits, self.golden["step0.logits_eval"], rtol=1e-5, atol=1e-5)
        loss = torch.nn.functional.cross_entropy(train_logits, self.golden["batch.target"])
        torch.testing.assert_close(loss.reshape(1), self.golden["step0.loss"].reshape(1), rtol=1e-5, atol=1e-6)

    def test_load_reads_width_and_classes_from_metadata_or_shapes(self):
        with tempfile.TemporaryDirectory() as folder:
            with_meta = os.path.join(folder, "meta.safetensors")
            save_file(self.state, with_meta, metadata={"num_classes": "10", "width_multiplier": "0.25"})
            bare = os.path.join(folder, "bare.safetensors")
            save_file(self.state, bare)
            for path in (with_meta, bare):
                self.assertEqual(mobilenet_cpu.architecture(path), (10, 0.25))
                net = mobilenet_cpu.load(path)
                self.assertFalse(net.training)
                self.assertTrue(torch.equal(net.linear.weight, self.state["linear.weight"]))

    def test_preprocessing_comes_from_the_dataset_metadata_or_is_cifars(self):
        with tempfile.TemporaryDirectory() as folder:
            folder_run = os.path.join(folder, "pets.safetensors")
            dataset = ('{"name":"image-folder","coarseLabels":false,"classNames":["cat","dog"],"trainImages":12,'
                       '"imageSize":64,"mean":[0.5,0.25,0.125],"std":[0.2,0.3,0.4]}')
            save_file(self.state, folder_run, metadata={"dataset": dataset})
            self.assertEqual(mobilenet_cpu.preprocessing(folder_run),
                             {"image_size": 64, "mean": (0.5, 0.25, 0.125), "std": (0.2, 0.3, 0.4), "class_names": ["cat", "dog"]})
            bare = os.path.join(folder, "bare.safetensors")
            save_file(self.state, bare)
            self.assertEqual(mobilenet_cpu.preprocessing(bare),
                             {"image_size": 32, "mean": mobilenet_cpu.MEAN, "std": mobilenet_cpu.STD, "class_names": []})
            for other in (folder, os.path.join(folder, "model.onnx")):
                with self.assertRaisesRegex(ValueError, "not a .safetensors model file"):
                    mobilenet_cpu.preprocessing(other)

    def test_load_refuses_an_extra_tensor(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "extra.safetensors")
            save_file(dict(self.state, extra=torch.zeros(1)), path)
            with self.assertRaises(RuntimeError):
                mobilenet_cpu.load(path)
            mobilenet_cpu.load(path, strict=False)

    def test_a_file_without_linear_weight_is_named(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "other.safetensors")
            save_file({"weight": torch.zeros(2)}, path)
            with self.assertRaisesRegex(ValueError, "linear.weight"):
                mobilenet_cpu.load(path)


if __name__ == "__main__":
    unittest.main()
